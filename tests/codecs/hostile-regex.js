// Catastrophic backtracking: exponential in the input, and not a loop the codec wrote.
function decodeUplink(input) {
  var text = "a".repeat(28 + input.bytes.length) + "!";
  return { data: { matched: /^(a+)+$/.test(text) } };
}
