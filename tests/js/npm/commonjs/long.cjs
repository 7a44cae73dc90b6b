const ms = require('ms');
exports.long = (value) => ms(value, { long: true });
