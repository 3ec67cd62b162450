// Defines neither decodeUplink nor Decode (a downlink encoder only).
function encodeDownlink(input) {
  return { bytes: [1], fPort: 10 };
}
