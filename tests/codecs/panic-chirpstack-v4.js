// The same panic button as panic-ttn.js, as a ChirpStack v4 codec: decodeUplink(input) with
// input.variables, answering {data} (or {errors}), here with const/arrow functions.
const EVENTS = { 1: "SOS", 2: "CANCEL", 3: "HEARTBEAT" };

const int32 = (bytes, at) =>
  (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];

const decodeUplink = (input) => {
  const bytes = input.bytes;
  if (bytes.length < 2) {
    return { errors: ["frame too short"] };
  }
  const data = {
    event: EVENTS[bytes[0]] || "UNKNOWN",
    battery: bytes[1],
    variables: Object.keys(input.variables).length,
  };
  if (bytes.length >= 10) {
    data.gps = { lat: int32(bytes, 2) / 1e7, lng: int32(bytes, 6) / 1e7 };
  }
  return { data };
};
