// Side effects every entry point needs, in this order: tsyringe needs the Reflect metadata API;
// tfjs-core alone registers no gradients (tfjs-layers does); the CPU backend is always present.
import 'reflect-metadata';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
