// Answers with errors, as TTN codecs do for a frame they refuse.
function decodeUplink(input) {
  return { data: { partial: true }, errors: ["unsupported frame version " + input.bytes[0]] };
}
