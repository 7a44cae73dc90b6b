// ms, a CommonJS package (`module.exports = function`), as its README shows it: through
// `import` (module.exports is the default export) and through `require` in a .cjs file.
import ms from 'ms';
import { long } from './long.cjs';

console.log(ms('2 days'), ms('1d'), ms('10h'), ms('2.5 hrs'), ms('1m'), ms('5s'), ms('-3 days'));
console.log(ms(60000), ms(2 * 60000), ms(-3 * 60000), ms(ms('10 hours')));
console.log(long(60000), long(2 * 60000), long(ms('10 hours')));
