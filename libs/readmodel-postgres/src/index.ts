export * from './postgres-read-model-store';
