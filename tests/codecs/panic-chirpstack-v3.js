// The same panic button as panic-ttn.js, as a ChirpStack v3 codec: Decode(fPort, bytes,
// variables) returns the decoded object itself, and throws on a frame it cannot read.
function Decode(fPort, bytes, variables) {
  if (bytes.length < 2) {
    throw new Error("frame too short");
  }
  var out = { event: ["NONE", "SOS", "CANCEL", "HEARTBEAT"][bytes[0]] || "UNKNOWN" };
  out.battery = bytes[1];
  out.port = fPort === undefined ? null : fPort;
  if (bytes.length >= 10) {
    var lat = (bytes[2] << 24) | (bytes[3] << 16) | (bytes[4] << 8) | bytes[5];
    var lng = (bytes[6] << 24) | (bytes[7] << 16) | (bytes[8] << 8) | bytes[9];
    out.gps = { lat: lat / 1e7, lng: lng / 1e7 };
  }
  return out;
}
