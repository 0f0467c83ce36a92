/** Tags other parts of the system key on: the admin role's SSM condition, dashboards, cost reports. */
export const ENVIRONMENT_TAG = "wg-ha:environment";
/** Every VPN server carries ROLE_TAG = SERVER_ROLE; the admin role may open sessions only to those. */
export const ROLE_TAG = "wg-ha:role";
export const SERVER_ROLE = "vpn-server";
