export default () => 'package import';
