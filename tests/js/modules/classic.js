// A classic script: top-level `var`s land on the global object, and `require` is there.
var shared = 'global var';
console.log('classic:', globalThis.shared, typeof require);
const cjs = require('cjs-pkg');
console.log('require from a script:', cjs.greet('script'), require('./config.json').name);
