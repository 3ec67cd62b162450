// Answers that are not a JSON object, chosen by byte 0 of the frame.
function Decode(fPort, bytes) {
  switch (bytes[0]) {
    case 1: return function () { return 1; };
    case 2: var cycle = { event: "SOS" }; cycle.self = cycle; return cycle;
    case 3: return { big: 10n };
    case 4: return [1, 2, 3];
    case 5: return "SOS";
    case 6: return undefined;
    case 7: var deep = {}; var at = deep; for (var i = 0; i < 100; i++) { at.next = {}; at = at.next; } return deep;
    case 8: return { blob: "x".repeat(200000) };
    case 9: return { toJSON: function () { throw new Error("no JSON for you"); } };
    default: return { value: NaN, skipped: undefined, fn: function () {} };
  }
}
