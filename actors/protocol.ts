// The actor channels are defined in lib/actor/protocol.ts (lib never imports actors/);
// the actors import them from here, next to themselves.
export * from '../lib/actor/protocol.js';
