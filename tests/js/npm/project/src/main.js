// A JS project's entry: a local module, JSON and three npm packages (ES and CommonJS), all
// embedded in the built module by build.rs.
import * as z from 'zod';
import ms from 'ms';
import greeting from './greeting.json' with { type: 'json' };
import { idFor } from './lib/ids.js';

const Config = z.object({ name: z.string(), timeout: z.string().transform((text) => ms(text)) });
const config = Config.parse(greeting);
console.log(`${config.name}: ${idFor(config.name)} (timeout ${config.timeout} ms)`);
console.log(`devDependencies bundled: ${await import('left-pad').then(() => true, () => false)}`);
