// Module syntax plus a CommonJS dependency through the global `require`.
export const createRequire = () => require('cjs-pkg').greet('require');
