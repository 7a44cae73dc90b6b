// A package importing itself by name (through its `exports`) and packages' `browser` fields.
import util from 'modules-fixture';
import { add } from 'modules-fixture/math';
import web from 'web-pkg';
import required from 'web-pkg/lib/cjs.js';
import entry from 'str-pkg';

console.log('self-reference:', util(), add(1, 2));
console.log('browser object:', web.build, JSON.stringify(web.fs), JSON.stringify(web.serverOnly));
console.log('browser false in require:', JSON.stringify(required));
console.log('browser string:', entry, require('str-pkg').default);
