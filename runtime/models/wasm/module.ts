// The compiled kernel module (logistic.wat), shared by every instance: trainAdagradLocal's and the
// local trainer's (../logistic.ts, ../local-adagrad.ts) and each TouchedSet's (../touched.ts).
import { LOGISTIC_WASM_BASE64 } from './logistic-wasm';

let compiled: WebAssembly.Module | undefined;
export function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(LOGISTIC_WASM_BASE64, 'base64'));
  return compiled;
}
