// Drives the Open311 client library against a Wangge endpoint:
//   node client.js <endpoint ending in /open311/v2/> <api_key> <lat> <long>
// Prints one JSON line with what it saw; exits non-zero on any error.
const Open311 = require('open311');

const [endpoint, apiKey, lat, long] = process.argv.slice(2);
const client = new Open311({ endpoint, format: 'json', apiKey });
const fail = (what, detail) => {
  console.error(what, detail);
  process.exit(1);
};

client.serviceList((err, services) => {
  if (err) return fail('serviceList', services);
  client.serviceDefinition('C03', (err, definition) => {
    if (err) return fail('serviceDefinition', definition);
    const request = { service_code: 'C03', lat, long, description: '路面坑洼', first_name: '四', last_name: '李', phone: '13900000002' };
    client.submitRequest(request, (err, created) => {
      if (err) return fail('submitRequest', created);
      const id = created[0].service_request_id;
      client.serviceRequest(id, (err, found) => {
        if (err) return fail('serviceRequest', found);
        console.log(JSON.stringify({
          services: services.length,
          definition: definition.service_code,
          id,
          notice: created[0].service_notice,
          status: found[0].status,
          code: found[0].service_code,
        }));
      });
    });
  });
});
