// Reaches for the outside world: byte 0 picks the attempt; byte 0 = 0 reports what exists.
function decodeUplink(input) {
  switch (input.bytes[0]) {
    case 1: return { data: { got: String(require("fs")) } };
    case 2: return { data: { got: String(fetch("http://127.0.0.1:9/")) } };
    case 3: return { data: { got: String(new XMLHttpRequest()) } };
    case 4: process.exit(1); return { data: {} };
    case 5: return { data: { got: String(setTimeout(function () {}, 0)) } };
    case 6: return { data: { got: String(new Worker("x.js")) } };
    case 7: return { data: { got: String(Atomics.waitAsync) } };
    case 8: return { data: { got: String(new WebAssembly.Memory({ initial: 1 })) } };
    case 9: import("fs"); return { data: { imported: "asked" } };
    default: break;
  }
  var names = ["require", "fetch", "XMLHttpRequest", "process", "setTimeout", "setInterval",
               "Worker", "Atomics", "SharedArrayBuffer", "WebAssembly", "FinalizationRegistry",
               "WeakRef", "Deno", "Bun", "std", "os", "module", "exports", "console", "load",
               "read", "readFile", "print", "quit", "__timer_manager"];
  var seen = {};
  for (var i = 0; i < names.length; i++) {
    seen[names[i]] = typeof globalThis[names[i]];
  }
  return { data: seen };
}
