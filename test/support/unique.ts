export { uniqueCategory } from '@esflow/testing';
