import { add } from './lib/math.js';
import { twice } from './lib/math';
import util from '#util';
import config from './config.json' with { type: 'json' };
import cjs, { greet, version } from 'cjs-pkg';
import makeCounter from 'fn-pkg';
import pick from 'esm-pkg';
import { feature } from 'esm-pkg/features/alpha.js';
import legacy from '@scope/legacy';
import { createRequire } from './lib/require.js';

console.log('relative:', add(2, 3), twice(4), util());
console.log('json:', config.name, config.list.length);
console.log('commonjs:', greet('esm'), version, cjs.version === version, typeof cjs.internal);
console.log('module.exports = function:', makeCounter()(), makeCounter.shared);
console.log('exports conditions:', pick());
console.log('subpath pattern:', feature);
console.log('module field:', legacy);
console.log('require in a module file:', createRequire());
try {
  await import('esm-pkg/dist/web.js');
} catch (error) {
  console.log('not exported:', error.message.includes("'./dist/web.js' is not defined"));
}
