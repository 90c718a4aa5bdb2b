export { waitFor } from '@esflow/testing';
