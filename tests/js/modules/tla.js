// No import or export: the top-level await alone makes this an ES module.
const value = await new Promise((resolve) => setTimeout(() => resolve(41), 1));
console.log('top-level await:', value + 1);
