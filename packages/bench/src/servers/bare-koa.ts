// The baseline: Koa answering every request with a small JSON body, nothing else.
//   tsx bare-koa.ts <port>
import Koa from 'koa';

const port = Number(process.argv[2]);
const koa = new Koa();
koa.use(async (ctx) => {
  ctx.body = { user: { id: 'bench', username: 'bench' }, auth: { method: 'none' } };
});
koa.listen(port, '127.0.0.1', () => process.stdout.write(`listening on ${port}\n`));
