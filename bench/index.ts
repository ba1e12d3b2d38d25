// `npm run bench`: the distillation-step benchmark (bench/step.ts); flags are passed through.
import './step.js';
