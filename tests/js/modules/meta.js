console.log('import.meta:', import.meta.url, import.meta.filename, import.meta.dirname === '');
