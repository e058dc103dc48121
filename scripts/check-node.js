#!/usr/bin/env node
// Stops `npm start` and `npm test` at once, with one line, on a Node.js older than the project needs:
// 24.15. Nest 12, @nestjs/typeorm 12, nestjs' other 12.x packages and the AI SDK 7 are ES modules
// only, and this CommonJS app loads them with require(esm); 24.15 is the floor the project relies
// on for that (and for Jest's --experimental-vm-modules). Plain old JavaScript on purpose: it must
// run on any Node.js.
'use strict';
var needed = [24, 15];
var parts = process.versions.node.split('.').map(Number);
if (parts[0] < needed[0] || (parts[0] === needed[0] && parts[1] < needed[1])) {
  console.error(
    'netra-backend needs Node.js ' + needed.join('.') + ' or newer (Node.js 24 LTS); ' +
      'this is Node.js ' + process.versions.node + '.',
  );
  process.exit(1);
}
