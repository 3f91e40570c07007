// What test processes pass on in NODE_OPTIONS: tap's own loaders go, anything else stays.
import t from 'tap';
import { withoutTapLoaders } from './helpers/untap-children.js';

t.test("tap's loaders are dropped from NODE_OPTIONS, the rest kept", async (t) => {
  t.equal(withoutTapLoaders('--import=file:///w/node_modules/@tapjs/processinfo/dist/esm/import.mjs'), '', 'tap as tap sets it');
  t.equal(withoutTapLoaders('--enable-source-maps --loader=/x/@tapjs/mock/loader.mjs --max-semi-space-size=2'), '--enable-source-maps --max-semi-space-size=2', 'others kept, in order');
  t.equal(withoutTapLoaders('"--import=file:///a b/node_modules/@tapjs/processinfo/import.mjs" --import=./mine.js'), '--import=./mine.js', 'a quoted path with a space; a loader of our own stays');
  t.equal(process.env['NODE_OPTIONS']?.includes('@tapjs/') ?? false, false, 'this very process hands none on');
});
