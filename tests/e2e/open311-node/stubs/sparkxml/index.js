module.exports = { parse: function () { throw new Error("XML is not used: the client runs in JSON mode"); } };
