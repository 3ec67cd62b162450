// Needs a module system it will not find.
var helpers = require("./helpers");
function decodeUplink(input) { return { data: helpers.decode(input.bytes) }; }
