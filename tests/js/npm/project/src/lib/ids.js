import { v5 as uuidv5 } from 'uuid';

export const idFor = (name) => uuidv5(name, uuidv5.DNS);
