export * from './node-id-generator';
export * from './system-clock';
export * from './esflow-config';
export * from './tokens';
export * from './adapters';
export * from './esflow-core.module';
export * from './bootstrap';
export * from './engine-factory';
