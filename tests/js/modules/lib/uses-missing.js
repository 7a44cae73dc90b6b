import missing from 'no-such-package';
export default missing;
