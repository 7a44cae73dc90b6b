try {
  require('./lib/nothing-here');
} catch (error) {
  console.log(error.code, error.message);
}
