"""The JavaScript that runs in every sandbox before the codec's own file.

It takes away what could run code after a call has returned or reach outside the call (the
engine's timer shim and the primitive under it, ``Atomics.waitAsync``; shared memory;
WebAssembly; finalizer callbacks), and it installs ``__aura_codec__``: ``defined()`` says which
conventions' functions the codec file defines, ``run(convention, bytes, fPort, recvTime)`` calls
one and always returns a JSON text ``[tag, value]`` rather than throwing, so that Python can say
exactly what went wrong:

* ``["ok", answer]``: the codec returned an object; ``answer`` is it, as JSON.stringify wrote it
  (functions and ``undefined`` left out, NaN as null: JSON's own rules).
* ``["threw", text]``: the codec threw ``text``.
* ``["type", kind]``: the codec returned something other than an object (``kind`` says what:
  its type, an array, a Promise).
* ``["json", text]``: the object cannot be JSON (a cycle, a BigInt); ``text`` is why.

Time and memory limits are the engine's (decoders/codecs/engine.py): they cannot be caught in
JavaScript, so a codec cannot swallow them here.
"""

from __future__ import annotations

# The functions used by run() are kept in the closure before the codec's file runs, so a codec
# that replaces JSON.stringify or Date changes its own output only.
PRELUDE = r"""
(function (global) {
  var stringify = JSON.stringify;
  var isArray = Array.isArray;
  var NativeDate = Date;
  var text = String;

  var unsafe = ["setTimeout", "clearTimeout", "setInterval", "clearInterval",
                "__timer_manager", "Atomics", "SharedArrayBuffer", "WebAssembly",
                "FinalizationRegistry", "WeakRef"];
  for (var i = 0; i < unsafe.length; i++) {
    // `var` globals cannot be deleted: overwrite those.
    if (!delete global[unsafe[i]]) { global[unsafe[i]] = undefined; }
  }

  var conventions = {
    decodeUplink: {
      present: function () { return typeof decodeUplink === "function"; },
      call: function (bytes, fPort, recvTime) {
        return decodeUplink({bytes: bytes, fPort: fPort, recvTime: recvTime, variables: {}});
      }
    },
    Decode: {
      present: function () { return typeof Decode === "function"; },
      call: function (bytes, fPort) { return Decode(fPort, bytes, {}); }
    }
  };

  function describe(thrown) {
    try {
      if (thrown instanceof Error) { return text(thrown.name) + ": " + text(thrown.message); }
      return typeof thrown === "string" ? thrown : text(stringify(thrown));
    } catch (ignored) {
      return "(a thrown value that cannot be shown)";
    }
  }

  function run(name, bytes, fPort, recvMs) {
    var answer;
    try {
      answer = conventions[name].call(
        bytes, fPort, recvMs === undefined ? undefined : new NativeDate(recvMs));
    } catch (thrown) {
      return stringify(["threw", describe(thrown)]);
    }
    var kind = answer === null ? "null" : isArray(answer) ? "an array" : typeof answer;
    if (kind === "object" && typeof answer.then === "function") {
      kind = "a Promise (an async function?)";
    }
    if (kind !== "object") { return stringify(["type", kind]); }
    try {
      return stringify(["ok", answer]);
    } catch (thrown) {
      return stringify(["json", describe(thrown)]);
    }
  }

  var names = Object.keys(conventions);
  function defined() {
    var found = [];
    for (var n = 0; n < names.length; n++) {
      if (conventions[names[n]].present()) { found.push(names[n]); }
    }
    return found.join(",");
  }

  Object.defineProperty(global, "__aura_codec__", {
    value: Object.freeze({run: run, defined: defined}),
    writable: false, enumerable: false, configurable: false
  });
})(globalThis);
"""
