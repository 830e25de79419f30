// Preloaded (`node --import`) into third-party test servers that listen on a port without naming a
// host (server-everything's HTTP modes bind every interface): such a listen is bound to loopback.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  const [first, second] = args;
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first));
  if (isPort && typeof second !== 'string') args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
