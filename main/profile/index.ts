/** Product profiles: schema, loading with field-named errors, server CA resolution. */
export { productProfileSchema, type ProductProfile, type ProductProfileInput } from './schema.ts';
export {
  loadProfile,
  parseProfile,
  resolveServerCaPem,
  ProfileError,
  type LoadedProfile,
  type ProfileIssue,
} from './load.ts';
