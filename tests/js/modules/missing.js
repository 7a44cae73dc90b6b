import './lib/uses-missing.js';
