// uuid as its README shows it (github.com/uuidjs/uuid): name-based UUIDs, validation,
// versions, parse/stringify. The expected values are the README's.
import { v5 as uuidv5, validate, version, parse, stringify, NIL } from 'uuid';

const MY_NAMESPACE = '1b671a64-40d5-491e-99b0-da01ff1f3341';
console.log(uuidv5('Hello, World!', MY_NAMESPACE));
console.log(uuidv5('www.example.com', uuidv5.DNS));
console.log(validate('c438f870-f2b7-4b2c-a1c3-83bd88bb1d79'), validate('not-a-uuid'));
console.log(version('6ba7b810-9dad-11d1-80b4-00c04fd430c8'));
const bytes = parse('6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b');
console.log(bytes.length, bytes[0], stringify(bytes));
console.log(NIL);
