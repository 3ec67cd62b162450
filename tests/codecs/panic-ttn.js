// A panic button in The Things Stack Device Repository convention, written for the tests.
// Frame (big-endian): byte 0 event (1 SOS, 2 cancel, 3 heartbeat), byte 1 battery %,
// bytes 2-5 latitude and 6-9 longitude, int32 in units of 1e-7 degree (optional).
var EVENTS = { 1: "SOS", 2: "CANCEL", 3: "HEARTBEAT" };

function int32(bytes, at) {
  return (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
}

function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort !== 10) {
    return { errors: ["unknown fPort " + input.fPort] };
  }
  if (bytes.length < 2) {
    return { errors: ["frame too short: " + bytes.length + " bytes"] };
  }
  var data = { event: EVENTS[bytes[0]] || "UNKNOWN", battery: bytes[1] };
  var warnings = [];
  if (bytes.length >= 10) {
    data.gps = { lat: int32(bytes, 2) / 1e7, lng: int32(bytes, 6) / 1e7 };
  }
  if (data.event === "UNKNOWN") {
    warnings.push("unknown event code " + bytes[0]);
  }
  data.received = input.recvTime.toISOString();
  return { data: data, warnings: warnings };
}
