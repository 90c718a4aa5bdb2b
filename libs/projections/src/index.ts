export * from './built-in-projections';
export * from './read-model-queries';
