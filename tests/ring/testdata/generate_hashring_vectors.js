// Generates tests/ring/testdata/hashring_vectors.json from the real npm
// hashring@3.2.0 package, the reference for ringwatch's ketama mode.
//
//   cd tests/ring/testdata && npm install --no-save hashring@3.2.0 && node generate_hashring_vectors.js
//
// For each ring (N servers, equal or unequal weights) it records the number of
// points, a SHA-256 over the whole point list ("value server\n" in ring
// order), the first points, and for 10,000 keys ("key-0".."key-9999") a
// SHA-256 over their owners ("key server\n") and the first owners. The C++
// test rebuilds each ring and compares all of it.
'use strict';
const HashRing = require('hashring');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

function server(i) {
  return '10.0.' + (i >> 8) + '.' + (i & 255) + ':11211';
}

const rings = [];
for (const n of [1, 2, 3, 7, 14, 49, 100, 1000]) {
  for (const weighted of [false, true]) {
    const servers = {};
    for (let i = 0; i < n; i++) servers[server(i)] = weighted ? (i % 5) + 1 : 1;
    const ring = new HashRing(servers, 'md5');
    const points = crypto.createHash('sha256');
    for (const node of ring.ring) points.update(node.value + ' ' + node.server + '\n');
    const lookups = crypto.createHash('sha256');
    const firstLookups = [];
    for (let k = 0; k < 10000; k++) {
      const key = 'key-' + k;
      const owner = ring.get(key);
      lookups.update(key + ' ' + owner + '\n');
      if (k < 20) firstLookups.push([key, owner]);
    }
    const ranges = [];
    for (let k = 0; k < 5; k++) ranges.push(['key-' + k, ring.range('key-' + k, Math.min(3, n))]);
    rings.push({
      servers: n,
      weighted: weighted,
      points: ring.ring.length,
      points_sha256: points.digest('hex'),
      first_points: ring.ring.slice(0, 8).map((node) => [node.value, node.server]),
      lookups: 10000,
      lookups_sha256: lookups.digest('hex'),
      first_lookups: firstLookups,
      ranges: ranges,
    });
  }
}
const out = {
  generator: 'hashring@' + require('hashring/package.json').version,
  server_strings: "'10.0.' + (i >> 8) + '.' + (i & 255) + ':11211'",
  weights: 'equal: 1; weighted: (i % 5) + 1',
  rings: rings,
};
fs.writeFileSync(path.join(__dirname, 'hashring_vectors.json'), JSON.stringify(out, null, 1) + '\n');
console.log('wrote ' + rings.length + ' rings');
