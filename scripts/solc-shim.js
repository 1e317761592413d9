#!/usr/bin/env node
// A native-solc stand-in for forge, backed by solc-js from npm (no native solc can be
// downloaded on our build machines). forge only ever calls `--version` and
// `--standard-json` (JSON on stdin, JSON on stdout), so that is all this answers.
// Output goes through fs.writeSync: solc-js's own CLI exits before flushing a pipe and
// truncates large outputs at 64 KiB.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const args = process.argv.slice(2);

function write(text) {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

if (args.includes('--version')) {
  const version = solc.version().replace('Emscripten.clang', 'Linux.g++');
  write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
  process.exit(2);
}

// Import roots: the --base-path and every --include-path forge passes, then the cwd.
const roots = [];
for (let i = 0; i < args.length; i++) {
  if ((args[i] === '--base-path' || args[i] === '--include-path') && args[i + 1]) {
    roots.push(args[i + 1]);
  }
}
roots.push(process.cwd());

function findImports(importPath) {
  for (const root of roots) {
    const candidate = path.resolve(root, importPath);
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
  }
  return { error: `File not found: ${importPath}` };
}

const input = fs.readFileSync(0, 'utf8');
write(solc.compile(input, { import: findImports }));
