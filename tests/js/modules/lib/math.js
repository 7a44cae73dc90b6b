export const add = (a, b) => a + b;
export const twice = (n) => add(n, n);
