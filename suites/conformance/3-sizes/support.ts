/** Socket buffers large enough for the biggest datagrams, so the client never drops them itself. */
export const BIG_BUFFER = 1 << 20;
