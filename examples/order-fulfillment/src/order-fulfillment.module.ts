import { Module } from '@nestjs/common';
import { EsflowModule } from '@esflow/nest';
import { orderFulfillmentFeature } from './order-fulfillment.feature';

/** The orderFulfillment workflow as a Nest module: import it beside `EsflowModule.forRoot`. */
@Module({ imports: [EsflowModule.forFeature(orderFulfillmentFeature)] })
export class OrderFulfillmentModule {}
