export * from './built-in-projections';
export * from './read-model-queries';
export * from './projection-decoder';
