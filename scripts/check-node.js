#!/usr/bin/env node
// Stops `npm start` and `npm test` at once, with one line, on a Node.js older than the project needs
// (pg-boss 12 needs 22.12). Plain old JavaScript on purpose: it must run on any Node.js.
'use strict';
var needed = [22, 12];
var parts = process.versions.node.split('.').map(Number);
if (parts[0] < needed[0] || (parts[0] === needed[0] && parts[1] < needed[1])) {
  console.error(
    'netra-backend needs Node.js ' + needed.join('.') + ' or newer (Node.js 24 LTS recommended); ' +
      'this is Node.js ' + process.versions.node + '.',
  );
  process.exit(1);
}
