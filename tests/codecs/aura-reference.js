// The AURA reference frame (docs/design.md section 7) as a TTN-convention codec, written for the
// benchmark (bench/codec_speed.py) and checked against the native model in tests/test_codecs.py.
// Field names and values match decoders/models/aura/reference.py's fields.
var TYPES = { 1: "alert", 2: "location", 3: "cancel", 4: "battery" };
var REASONS = { 0: "user", 1: "timeout", 2: "remote" };
var NO_FIX = 0x7fffffff;

function int32(b, i) { return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]; }

function coordinate(raw, limit, warnings, name) {
  if (raw === NO_FIX) { return null; }
  var value = Math.round(raw) / 1e7;
  if (value < -limit || value > limit) { warnings.push(name + " out of range"); }
  return value;
}

function decodeUplink(input) {
  var b = input.bytes;
  var type = TYPES[b[0]];
  var warnings = [];
  if (type === "alert" || type === "location") {
    if (b.length !== 12) { return { errors: ["a position frame has 12 bytes"] }; }
    return {
      data: {
        message_type: type,
        latitude: coordinate(int32(b, 1), 90, warnings, "latitude"),
        longitude: coordinate(int32(b, 5), 180, warnings, "longitude"),
        accuracy_m: b[9] === 0xff ? null : b[9] * 4,
        battery_percent: b[10] === 0xff ? null : b[10],
        flags: { reserved: b[11] >> 2, moving: (b[11] & 2) !== 0, stale: (b[11] & 1) !== 0 },
      },
      warnings: warnings,
    };
  }
  if (type === "cancel" && b.length === 2) {
    return { data: { message_type: type, reason: REASONS[b[1]] || b[1] } };
  }
  if (type === "battery" && b.length === 4) {
    return { data: { message_type: type, battery_percent: b[1], battery_mv: (b[2] << 8) | b[3] } };
  }
  return { errors: ["unknown message type or length"] };
}
