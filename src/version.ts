/** The bot-bottle version; also the tag of the images it builds. */
export const VERSION = "0.1.0";

/** The Docker Engine API versions bot-bottle speaks: at least 1.41 (Engine 20.10). */
export const MIN_API_VERSION = "1.41";

/** The newest Engine API version bot-bottle has been tested with; negotiation caps at this. */
export const MAX_API_VERSION = "1.47";
