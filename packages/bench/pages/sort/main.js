// The sample-sort bench in a tab (run by src/sample-sort-chromium.mjs): webray with the init
// options from the URL fragment; `window.bench.measure(...)` is src/sample-sort-measure.mjs's run.
import * as ray from 'webray';
import { measureSort } from '../../src/sample-sort-measure.mjs';

const status = document.getElementById('status');
window.bench = { measure: (o) => measureSort({ ...o, log: (line) => { status.textContent = line; } }) };
window.benchStatus = 'loading';
ray.init(JSON.parse(decodeURIComponent(location.hash.slice(1)))).then(
  () => { window.benchStatus = 'ready'; status.textContent = 'ready'; },
  (e) => { window.benchStatus = `failed: ${e.name}: ${e.message}`; status.textContent = window.benchStatus; },
);
