// `npm start`: the product on one machine (scripts/start/product.mts), until Ctrl-C.
import './mts-resolve-hook.mjs';

const { runProduct } = await import('./start/product.mjs');
process.exit(await runProduct(process.argv.slice(2), process.env));
