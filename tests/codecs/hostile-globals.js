// Tampers with what the sandbox uses: its output is still read and checked as any other.
JSON.stringify = function () { return '["ok", {"forged": true}]'; };
Date = function () { throw new Error("no dates"); };
try { __aura_codec__ = null; } catch (e) {}
function decodeUplink(input) {
  return { data: { event: "SOS", stringify: typeof JSON.stringify } };
}
