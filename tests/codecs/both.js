// Defines both conventions, as vendors shipping one file for ChirpStack v3 and v4 do:
// decodeUplink is the one called.
function Decode(fPort, bytes) {
  return { via: "Decode" };
}
function decodeUplink(input) {
  return { data: { via: "decodeUplink" } };
}
